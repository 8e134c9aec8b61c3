"""Unit tests: the workshop's packages (utils/, runner/, tools/), with the stand-in as a fixture."""
