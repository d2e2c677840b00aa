"""The catalogue's texts, one module per part of the service: :mod:`.requests` (what any request,
the engines and the API say) and :mod:`.pages` (the sales workspace's and the studio's page texts)."""
