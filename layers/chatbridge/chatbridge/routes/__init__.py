"""Route definitions (Powertools routers). Functions include the routers they serve; the meta
function includes them all to publish one OpenAPI document."""
