import sys

from kubehelm_mcp.cli import main

sys.exit(main())
