import type { Routes } from '@angular/router';
import { authGuard, guestGuard } from './core/auth-guard';

/** Titles are functions: `$localize` runs when a route activates, after the translations are loaded. */
export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'instances' },
  {
    path: 'login',
    title: () => $localize`:Browser tab title@@title.login:Log in · wacloud`,
    canActivate: [guestGuard],
    loadComponent: () => import('./auth/login').then((m) => m.Login),
  },
  {
    path: 'join',
    title: () => $localize`:Browser tab title@@title.join:Join a team · wacloud`,
    loadComponent: () => import('./team/join').then((m) => m.Join),
  },
  {
    path: 'register',
    title: () => $localize`:Browser tab title@@title.register:Create an account · wacloud`,
    canActivate: [guestGuard],
    loadComponent: () => import('./auth/register').then((m) => m.Register),
  },
  {
    path: '',
    canActivate: [authGuard],
    children: [
      {
        path: 'instances',
        title: () => $localize`:Browser tab title@@title.instances:Instances · wacloud`,
        loadComponent: () => import('./instances/instance-list').then((m) => m.InstanceList),
      },
      {
        path: 'instances/:id',
        title: () => $localize`:Browser tab title@@title.instance:Instance · wacloud`,
        loadComponent: () => import('./instances/instance-detail').then((m) => m.InstanceDetail),
      },
      {
        path: 'instances/:id/tokens',
        title: () => $localize`:Browser tab title@@title.tokens:Access tokens · wacloud`,
        loadComponent: () => import('./instances/instance-tokens').then((m) => m.InstanceTokens),
      },
      {
        path: 'inbox',
        title: () => $localize`:Browser tab title@@title.inbox:Inbox · wacloud`,
        loadComponent: () => import('./inbox/inbox').then((m) => m.Inbox),
      },
      {
        path: 'overview',
        title: () => $localize`:Browser tab title@@title.overview:Overview · wacloud`,
        loadComponent: () => import('./overview/overview').then((m) => m.Overview),
      },
      {
        path: 'wallet',
        title: () => $localize`:Browser tab title@@title.wallet:Wallet · wacloud`,
        loadComponent: () => import('./wallet/wallet').then((m) => m.Wallet),
      },
      {
        path: 'team',
        title: () => $localize`:Browser tab title@@title.team:Team · wacloud`,
        loadComponent: () => import('./team/team').then((m) => m.Team),
      },
      {
        path: 'contacts',
        loadChildren: () => import('./contacts/contacts.routes').then((m) => m.contactRoutes),
      },
      {
        path: 'profile',
        title: () => $localize`:Browser tab title@@title.profile:Profile · wacloud`,
        loadComponent: () => import('./profile/profile').then((m) => m.Profile),
      },
    ],
  },
  { path: '**', redirectTo: 'instances' },
];
