// Small progressive enhancements; every page works without this file.
document.addEventListener("keydown", (event) => {
  // Escape closes an open mobile menu.
  if (event.key === "Escape") {
    document.querySelectorAll("details[open]").forEach((menu) => menu.removeAttribute("open"));
  }
});
