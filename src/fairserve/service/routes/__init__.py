"""The HTTP routes, one module per resource; each translates a request, calls the service's modules and answers.

No SQL and no policy arithmetic here: that is :mod:`fairserve.service.store`, :mod:`fairserve.service.queue`,
:mod:`fairserve.service.intake` and :mod:`fairserve.policy`.
"""
