// The demo page's chat panel: messages, the unread badge, sending.
import type { ChatMessage } from '../src/sdk/index.ts';
import { session } from './demo-session.ts';
import { $, banner } from './page.ts';

let unread = 0;

export function appendChat(message: ChatMessage): void {
  const li = document.createElement('li');
  li.dataset.local = String(message.isLocal);
  const sender = document.createElement('span');
  sender.className = 'sender';
  sender.textContent = message.isLocal ? 'You' : message.senderName;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text;
  li.append(sender, text);
  $('chat-list').append(li);
  li.scrollIntoView({ block: 'end' });
  if ($('chat-panel').hidden && !message.isLocal) {
    unread++;
    $('chat-badge').hidden = false;
    $('chat-badge').textContent = String(unread);
  }
}

/** The history is shown: nothing is unread. */
export function markAllRead(): void {
  unread = 0;
  $('chat-badge').hidden = true;
}

export function wireChat(): void {
  const toggleChat = () => {
    const panel = $('chat-panel');
    panel.hidden = !panel.hidden;
    $('chat').setAttribute('aria-pressed', String(!panel.hidden));
    if (!panel.hidden) {
      unread = 0;
      $('chat-badge').hidden = true;
      $('chat-input').focus();
    }
  };
  $('chat').addEventListener('click', toggleChat);
  $('chat-close').addEventListener('click', toggleChat);
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $<HTMLInputElement>('chat-input');
    const text = input.value.trim();
    if (!text || !session.room) return;
    input.value = '';
    void session.room
      .sendChat(text)
      .catch((err: unknown) => banner(`Message not sent: ${String(err)}`, 'error', 5000));
  });
}
