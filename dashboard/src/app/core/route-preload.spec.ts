import type { Routes } from '@angular/router';
import { preloadRoute, routeLoader } from './route-preload';

const loader = (name: string) => Object.assign(() => Promise.resolve(name), { page: name });
const instances = loader('instances');
const detail = loader('detail');
const login = loader('login');
const contacts = loader('contacts');
const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'instances' },
  { path: 'login', loadComponent: login as never },
  {
    path: '',
    children: [
      { path: 'instances', loadComponent: instances as never },
      { path: 'instances/:id', loadComponent: detail as never },
      { path: 'contacts', loadChildren: contacts as never },
    ],
  },
  { path: '**', redirectTo: 'instances' },
];

describe('route preload', () => {
  it('finds the loader of the page a path lands on', () => {
    expect(routeLoader(routes, '/login')).toBe(login);
    expect(routeLoader(routes, '/instances')).toBe(instances);
    expect(routeLoader(routes, '/instances/i-1?tab=events')).toBe(detail);
    expect(routeLoader(routes, '/contacts/import')).toBe(contacts);
  });

  it('follows a plain redirect and ignores the fallback', () => {
    expect(routeLoader(routes, '/')).toBe(instances);
    expect(routeLoader(routes, '/nowhere')).toBeNull();
    expect(routeLoader(routes, '/instances/i-1/extra')).toBeNull();
  });

  it('calls the loader once and swallows its failure', async () => {
    const failing = vi.fn(() => Promise.reject(new Error('offline')));
    preloadRoute([{ path: 'inbox', loadComponent: failing as never }], '/inbox');
    expect(failing).toHaveBeenCalledTimes(1);
    await Promise.resolve();
    preloadRoute(routes, '/nowhere');
  });
});
