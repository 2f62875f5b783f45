"""KodeWar's composition root: settings and the `kodewar` command, wiring api -> actors -> sandbox."""
