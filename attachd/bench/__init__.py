"""attachd-bench: the attach cycle as Nova makes it, measured against a floor.

``loadgen`` drives the cycle over keep-alive HTTP, ``floor`` is the minimal WSGI app that
does one transaction per request, ``deploy`` starts and stops what is measured, ``stats``
turns latencies into the table and the JSON line.
"""
