"""The MQTT side of `sunprint fleet`: a paho-mqtt client on its own thread that subscribes to
every unit topic (topics.SUBSCRIPTION) and hands each message to model.Fleet.on_message.

It reconnects by itself (paho's backoff, 1 to 30 s); the page says whether it is connected."""

from __future__ import annotations

import os

import paho.mqtt.client as paho

from host_tools.fleet import topics


class Subscriber:
    def __init__(self, fleet, host, port, client_id=None):
        self.fleet = fleet
        self.host = host
        self.port = port
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id or "sunprint-fleet-%d" % os.getpid(),
            clean_session=True,
        )
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self):
        self.fleet.set_broker("connecting to %s:%d" % (self.host, self.port))
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.fleet.set_broker("refused: %s" % reason_code)
            return
        client.subscribe(topics.SUBSCRIPTION, qos=0)
        self.fleet.set_broker("connected")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.fleet.set_broker("disconnected (%s); reconnecting" % reason_code)

    def _on_message(self, client, userdata, msg):
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # a topic that is not UTF-8: shown with replacements
            topic = bytes(msg._topic).decode("utf-8", "replace")
        self.fleet.on_message(topic, bytes(msg.payload))
