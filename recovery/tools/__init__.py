"""The plan's operator tools (backup_rds_manual.sh, backup_s3_manual.sh, restore_rds_guide.sh) as library code.

Each module does the work and returns typed results; `recovery/tools/cli.py` parses arguments and
renders them. No pytest, no print.
"""
