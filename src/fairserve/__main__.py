"""``python -m fairserve``."""

from fairserve.cli import main

if __name__ == "__main__":
    main()
