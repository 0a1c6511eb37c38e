from medbench.cli import main

# Guarded: worker processes started with "spawn" (the radiomics space's) import the main
# module again under another name, and must not start a second run.
if __name__ == "__main__":
    main()
