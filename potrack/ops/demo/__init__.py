"""Demo data: orders flowing WC001→WC005 over 30 days, one operator per department."""
