from hiprom.apps.cli import main

main()
