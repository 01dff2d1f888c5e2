import { clearTranslations, loadTranslations } from '@angular/localize';
import ru from '../../../locale/messages.ru.json';
import pt from '../../../locale/messages.pt-BR.json';
import { HttpErrorResponse } from '@angular/common/http';
import { toApiError, translatedMessage } from '../api-error';
import { phaseLabel, sessionLabel } from '../../shared/labels';

const httpError = (status: number, error: unknown) => new HttpErrorResponse({ status, error });

describe('translated messages', () => {
  afterEach(() => clearTranslations());

  it('maps api error codes to the member language, keeping the server English message for unknown codes', () => {
    loadTranslations(ru.translations);
    expect(translatedMessage('invalid_credentials')).toBe('Неверная эл. почта или пароль.');
    expect(
      toApiError(httpError(402, { error: { code: 'insufficient_funds', message: 'The balance cannot pay for this' } })).message,
    ).toMatch(/пополните кошелёк/);
    expect(toApiError(httpError(409, { error: { code: 'brand_new_code', message: 'Something new happened.' } })).message).toBe(
      'Something new happened.',
    );
    expect(toApiError(httpError(418, null)).message).toBe('Запрос не выполнен (418).');
  });

  it('translates enumerations and the tester with placeholders filled in', () => {
    loadTranslations(pt.translations);
    expect(phaseLabel('Running')).toBe('Em execução');
    expect(sessionLabel('WORKING')).toBe('Conectada');
    expect(sessionLabel('SOMETHING_NEW')).toBe('SOMETHING_NEW');
    expect(translatedMessage('name_taken')).toBe('Você já tem uma instância com este nome.');
  });
});
