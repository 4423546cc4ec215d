from hmk.cli import main

raise SystemExit(main())
