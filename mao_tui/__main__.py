from mao_tui.cli import main

raise SystemExit(main())
