"""Contract tests: the workshop and the stand-in against each other and the recorded corpus."""
