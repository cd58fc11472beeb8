"""What a deploy sends, checked here: the SAM transform AWS runs, a rehearsal on the emulator and the
upgrade check against the last release."""
