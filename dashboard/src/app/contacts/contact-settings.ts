import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { RouterLink } from '@angular/router';
import { CurrentUser } from '../core/current-user';
import { DefaultCountry } from './default-country';
import { TagCatalogue } from './tag-catalogue';

/**
 * `/contacts/settings`, reached from the Contacts page: the tag catalogue and the organisation's default country for
 * local numbers. Deleting tags and changing the country are for owners and admins (the api enforces it; the page
 * offers them only to them).
 */
@Component({
  selector: 'app-contact-settings',
  imports: [RouterLink, TagCatalogue, DefaultCountry],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './contact-settings.html',
})
export class ContactSettings {
  private readonly currentUser = inject(CurrentUser);
  /** Whether the member is an owner or admin; false until `/v1/me` answers. */
  readonly admin = signal(false);

  constructor() {
    this.currentUser.get().then(
      (me) => this.admin.set(me.role === 'owner' || me.role === 'admin'),
      () => undefined,
    );
  }
}
