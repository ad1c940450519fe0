// How the project list names your relation to a project (DOM-free: node tests it).
export function roleKey(project) {
  if (project.role) return `home.role.${project.role}`;
  // No role: a public project anyone may label, or a private one an administrator sees without being in it.
  return project.visibility === "public" ? "home.role.public" : "home.role.privateAdmin";
}
