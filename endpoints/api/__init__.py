"""The JSON APIs of endpoints: Thinger-style endpoints (thinger.py) and ThingPark-style
connections (thingpark.py). Both are thin adapters over services, selectors and delivery."""
