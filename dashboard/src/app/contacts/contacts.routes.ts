import type { Routes } from '@angular/router';

/** `/contacts…`, loaded lazily: the list, the import wizard, tags and settings, a new contact, one contact. */
export const contactRoutes: Routes = [
  {
    path: '',
    pathMatch: 'full',
    title: () => $localize`:Browser tab title@@title.contacts:Contacts · wacloud`,
    loadComponent: () => import('./contact-list').then((m) => m.ContactList),
  },
  {
    path: 'import',
    title: () => $localize`:Browser tab title@@title.contactImport:Import contacts · wacloud`,
    loadComponent: () => import('./contact-import').then((m) => m.ContactImport),
  },
  {
    path: 'settings',
    title: () => $localize`:Browser tab title@@title.contactSettings:Tags and settings · wacloud`,
    loadComponent: () => import('./contact-settings').then((m) => m.ContactSettings),
  },
  {
    path: 'new',
    title: () => $localize`:Browser tab title@@title.contactNew:New contact · wacloud`,
    loadComponent: () => import('./contact-edit').then((m) => m.ContactEdit),
  },
  {
    path: ':id',
    title: () => $localize`:Browser tab title@@title.contact:Contact · wacloud`,
    loadComponent: () => import('./contact-edit').then((m) => m.ContactEdit),
  },
];
