"""Helm: engine protocols with typed requests and results (engine.py: ReleaseReader, ReleaseWriter,
HelmCommands), a CLI engine over real helm binaries (cli.py reads, cli_writes.py writes and local
commands, argv.py every command line), the Go SDK engine (sdk.py, sdk_writes.py) and a storage
engine that reads Helm's release records through the Kubernetes API in-process; service.py chooses.

Nothing here knows about MCP.
"""
