"""The API gateway: route declarations (the API catalogue) and the request pipeline."""
