// A local module the probe imports: bundled with the app.
export function shout(text: string): string {
  return `${text.toUpperCase()}!`;
}
