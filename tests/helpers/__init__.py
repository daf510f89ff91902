"""What several test modules share: servers, environments, commands. Test modules import from here (or get
fixtures from conftest.py), never from each other."""
