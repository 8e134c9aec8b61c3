"""Tests of the stand-in itself: the local emulator of Amazon Bedrock (standin/)."""
