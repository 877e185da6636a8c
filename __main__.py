"""`python -m devise`: the same command line as the `devise` script."""
from devise.cli import main

if __name__ == "__main__":
    main()
