// Starts Swagger UI or ReDoc on the engine's OpenAPI document (vendored files: works offline).
const el = document.getElementById("api-docs");
if (el.dataset.kind === "swagger") {
  window.SwaggerUIBundle({ url: el.dataset.spec, domNode: el, deepLinking: true });
} else {
  window.Redoc.init(el.dataset.spec, {}, el);
}
