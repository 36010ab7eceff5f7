// The sheets of /orders/cards, drawn in the browser from plain data that route_card.py prepares (every
// text, URL and class already decided there). One NiceGUI element for up to 200 cards instead of ~70
// each: building 14,000 elements held the server's event loop, and so every kiosk, for seconds.
// Text only through {{ }} and attribute bindings, which Vue escapes; never v-html. Layout: print-cards.css.
export default {
  template: `
    <div class="rc-sheets">
      <section v-for="card in cards" :key="card.number" class="rc-sheet" data-testid="route-card">
        <div class="rc-head">
          <div class="rc-ident">
            <div class="rc-kicker">Route card</div>
            <div :class="card.number_class">{{ card.number }}</div>
            <div v-for="fact in card.lead" class="rc-fact">
              <div class="rc-caption">{{ fact[0] }}</div>
              <div class="rc-value">{{ fact[1] }}</div>
            </div>
            <div class="rc-facts">
              <div v-for="fact in card.facts" class="rc-fact">
                <div class="rc-caption">{{ fact[0] }}</div>
                <div class="rc-value">{{ fact[1] }}</div>
              </div>
            </div>
            <div v-for="fact in card.trail" class="rc-fact">
              <div class="rc-caption">{{ fact[0] }}</div>
              <div class="rc-value">{{ fact[1] }}</div>
            </div>
          </div>
          <img class="rc-qr" :src="card.qr_src" :alt="card.qr_alt">
        </div>
        <div class="rc-barcode"><img class="rc-code128" :src="card.code128_src" :alt="card.code128_alt"></div>
        <div class="rc-route-title">{{ card.route_title }}</div>
        <div :class="card.steps_class">
          <div v-for="step in card.steps" :key="step.position" class="rc-step">
            <div class="rc-step-no">{{ step.position }}</div>
            <div class="rc-cell rc-step-wc">
              <template v-if="step.code">
                <div class="rc-step-code">{{ step.code }}</div>
                <div class="rc-step-name">{{ step.name }}</div>
              </template>
              <div v-else class="rc-caption">{{ blank }}</div>
            </div>
            <div v-for="field in fields" class="rc-cell"><div class="rc-caption">{{ field }}</div></div>
          </div>
        </div>
        <div class="rc-foot">{{ card.printed }}</div>
      </section>
    </div>`,
  props: {
    cards: { type: Array, default: () => [] },
    fields: { type: Array, default: () => [] },
    blank: { type: String, default: '' },
  },
};
