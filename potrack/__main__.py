from potrack.cli import main

raise SystemExit(main())
