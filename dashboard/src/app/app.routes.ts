import type { Routes } from '@angular/router';
import { authGuard, guestGuard } from './core/auth-guard';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'instances' },
  { path: 'login', title: 'Log in · wacloud', canActivate: [guestGuard], loadComponent: () => import('./auth/login').then((m) => m.Login) },
  {
    path: 'register',
    title: 'Create an account · wacloud',
    canActivate: [guestGuard],
    loadComponent: () => import('./auth/register').then((m) => m.Register),
  },
  {
    path: '',
    canActivate: [authGuard],
    children: [
      {
        path: 'instances',
        title: 'Instances · wacloud',
        loadComponent: () => import('./instances/instance-list').then((m) => m.InstanceList),
      },
      {
        path: 'instances/:id',
        title: 'Instance · wacloud',
        loadComponent: () => import('./instances/instance-detail').then((m) => m.InstanceDetail),
      },
      {
        path: 'instances/:id/tokens',
        title: 'Access tokens · wacloud',
        loadComponent: () => import('./instances/instance-tokens').then((m) => m.InstanceTokens),
      },
      { path: 'wallet', title: 'Wallet · wacloud', loadComponent: () => import('./wallet/wallet').then((m) => m.Wallet) },
      { path: 'profile', title: 'Profile · wacloud', loadComponent: () => import('./profile/profile').then((m) => m.Profile) },
    ],
  },
  { path: '**', redirectTo: 'instances' },
];
