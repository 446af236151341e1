"""The twin: an embedded stand-in of the Turath AWS account (moto + PostgreSQL + InvenioRDM stand-in).

It may know about moto; the suite (checks/, recovery/) may not know about it.
"""
