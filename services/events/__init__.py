"""The events service: Gathering filing and approval, check-ins and exposure detection."""
