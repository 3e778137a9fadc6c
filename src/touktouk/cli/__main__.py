from touktouk.cli.app import main

main()
