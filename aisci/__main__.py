from aisci.cli import main

main()
