import sys

from churn_core.cli import main

sys.exit(main())
