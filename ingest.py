"""Index knowledge_base/ (see `python ingest.py --help`); the same as `helpdesk ingest`."""

from helpdesk.cli import ingest_main

if __name__ == "__main__":
    ingest_main()
