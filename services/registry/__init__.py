"""The registry service: People, regions, risk areas, travel records, the control-measure policy and health codes."""
