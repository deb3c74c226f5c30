"""What an exhibition visitor reads: one caption per service of the scenario, in Korean and
English, saying what it does and why it matters; shown in turn at the bottom of the screen."""

from __future__ import annotations

from gwangju_twin.model import TwinModel

CAPTION_S = 10.0  # wall seconds each caption stays

# service kind -> (Korean, English); the figures are the sources' (GWANGJU_FACTS.md)
CAPTIONS = {
    "cleaning": ("무인 청소차가 시속 5km 이하로 도로를 청소합니다 — 2021년 빛그린산단에서 국내 최초로 운전자 없이 달렸습니다.",
                 "Driverless sweepers clean the streets at 5 km/h or less, as they first did in Korea at Bitgreen in 2021."),
    "waste": ("무인 수거차가 쓰레기통이 차기 전에 돌며 수거합니다. 작업자는 정류장에서 기다렸다가 싣습니다.",
              "Driverless collectors empty the bins before they overflow; workers wait at the stops to load them."),
    "on_demand": ("수요응답형 셔틀: 헬스케어·무인매장 서비스를 호출하면 가장 알맞은 차량이 경로에 넣어 태웁니다.",
                  "On-demand shuttles for healthcare and unmanned stores: each request goes to the vehicle that can fit it best."),
    "loop": ("정해진 노선을 도는 셔틀과 공공정보 수집차 — 2021년 운행은 1.1~2.3km의 짧은 순환 노선이었습니다.",
             "Loop shuttles and the public-information collector, like the short 1.1-2.3 km loops of the 2021 service."),
    "drones": ("드론특별자유화구역의 택배 드론과 수소 화물 드론: 비행 전에 전체 경로를 예약해 서로의 분리 간격을 지킵니다.",
               "Parcel drones in the drone free zone and the hydrogen cargo drone: every flight is reserved whole before take-off, so no two lose separation."),
    "certification": ("친환경자동차부품인증센터: 부품이 배터리·충돌·충격 시험 장비와 인력을 기다리며 인증을 받습니다.",
                      "The eco-friendly auto-parts certification center: parts queue for battery, crash and impact rigs and staff, then pass or fail."),
}


def captions(model: TwinModel) -> list[tuple[str, str]]:
    """The captions of the services this model runs, in the order they run."""
    kinds: list[str] = []
    for service in model.services:
        kind = getattr(getattr(service, "config", None), "service", None) or getattr(service, "id", "")
        if kind in CAPTIONS and kind not in kinds:
            kinds.append(kind)
    return [CAPTIONS[k] for k in kinds]


def caption_at(model: TwinModel, wall_s: float) -> tuple[str, str] | None:
    """The caption shown ``wall_s`` seconds into the show, or None when there is nothing to say."""
    shown = captions(model)
    return shown[int(wall_s // CAPTION_S) % len(shown)] if shown else None
