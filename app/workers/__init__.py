"""Workers and their devices: adverts, and the Celery queue each run is routed to."""
