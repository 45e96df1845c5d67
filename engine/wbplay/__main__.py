from wbplay.cli import main

main()
