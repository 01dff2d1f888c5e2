/** The value of the input/select/textarea that fired `e`. */
export function valueOf(e: Event): string {
  return (e.target as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
}
export function checkedOf(e: Event): boolean {
  return (e.target as HTMLInputElement).checked;
}
