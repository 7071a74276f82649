// Small progressive enhancement: the pages work without it.
// A submitted form cannot be sent twice by a double tap.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  setTimeout(function () { delete form.dataset.sent; }, 3000);
});
// 打印: a button that prints the page (the print stylesheet makes it an A4 document);
// data-print="id" prints that section alone (the board's 公示表).
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("[data-print]") : null;
  if (!button) { return; }
  event.preventDefault();
  var only = button.getAttribute("data-print");
  if (only) { document.body.setAttribute("data-printing", only); }
  window.print();
  document.body.removeAttribute("data-printing");
});
// A select marked data-autosubmit sends its form when changed (inline handlers are not
// allowed by the Content-Security-Policy; a <noscript> button covers no script at all).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.submit();
  }
});
