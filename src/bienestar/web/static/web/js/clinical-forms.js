// In the encounter and prescribe forms, Enter in a search box (diagnosis, medicine) would submit the
// whole form; here it only searches (htmx already searches as one types). Without this script the
// form still works: the server answers with the search results and saves nothing.
document.addEventListener("keydown", function (event) {
  var target = event.target;
  if (event.key === "Enter" && target instanceof HTMLInputElement &&
      target.type === "search" && target.closest(".clinical-form")) {
    event.preventDefault();
  }
});
