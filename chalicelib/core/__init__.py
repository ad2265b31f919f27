"""Pure code: no boto3, no chalice, no storage. It computes verdicts, decisions and reports from data
handed in; the services store what comes out."""
