"""The twin: an embedded stand-in of the Turath AWS account (moto + PostgreSQL + InvenioRDM stand-in).

It may know about moto; the suite (checks/, recovery/) may not know about it.
"""

import os

# The Turath account runs on Fargate: no EC2 images. moto would parse its catalogue of default
# AMIs (~0.5 s) at every start and every reset of the EC2 backend.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
