from local.dev_server.cli import main

main()
